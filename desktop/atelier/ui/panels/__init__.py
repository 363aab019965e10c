"""The three panels. They build requests from their documents and submit them; they never run models."""
