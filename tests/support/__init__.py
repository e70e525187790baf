"""What many tests share: webhook bodies signed by the app's simulator, the barrier race harness, personas."""
