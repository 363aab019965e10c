"""The desktop side of a studio render server: the JSON/PNG wire format and an HTTP client (no Ray)."""
