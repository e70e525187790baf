"""The agent workspace's pages: views, forms and URLs (thin: they call tickets.services)."""
