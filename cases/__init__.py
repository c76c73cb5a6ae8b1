"""The case domain and the staff side."""
