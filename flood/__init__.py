"""Replaying a caucus night under a call flood: personas, a plan of calls, and a runner.

The tests use it for the surge issue's flood test; `hotline flood` (Locust) uses the same
personas, so what a load tester measures is what the suite checks.
"""
