"""The staff console: the bureau's working screen, in Chinese, in the browser."""
