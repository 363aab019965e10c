"""The studio render server (`atelier serve`): the desktop worker's Engine behind Ray Serve, JSON and PNG over HTTPS."""
