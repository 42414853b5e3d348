"""Page routes, one module per area; thin: each calls a service and renders a template."""
