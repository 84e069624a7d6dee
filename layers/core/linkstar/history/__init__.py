"""Order-history imports: an uploaded export file becomes canonical orders, with progress."""
