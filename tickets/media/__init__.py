"""Media kept for good: the stored files of messages, their download jobs and serving them."""
