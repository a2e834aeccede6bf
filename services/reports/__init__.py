"""Reports: requests every agency's report, receives them, shares them safely and on time."""
