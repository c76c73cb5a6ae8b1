"""What the public and staff sides share: error pages and security headers."""
