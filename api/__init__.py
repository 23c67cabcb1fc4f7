"""SafeGrid 安格: hazard inspection and rectification for township safety offices."""

__version__ = "0.1.0"
