"""A simulated datacenter on loopback that speaks real WinRM and IPMI."""
