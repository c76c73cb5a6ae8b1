"""The public side: landing page, report form, receipt, tracking. No login state."""
