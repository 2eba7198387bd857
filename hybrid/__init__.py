"""hybrid-qaoa: learned warm starts for QAOA Max-Cut, from noisy simulation to IBM hardware."""

__version__ = "0.1.0"
