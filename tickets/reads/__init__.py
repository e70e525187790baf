"""What the pages and the API read: visibility, search, the inbox, the conversation, the change feed."""
