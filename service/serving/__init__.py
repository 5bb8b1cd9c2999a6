"""Serving HTTP processes: the supervisor and the connection balancer behind ``vigil serve``."""
