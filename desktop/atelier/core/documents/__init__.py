"""Observable panel state (documents). Widgets subscribe to their signals and disconnect when closed."""
