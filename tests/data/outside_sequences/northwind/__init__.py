"""An adopter's company package (a test fixture outside nurture's tree)."""
