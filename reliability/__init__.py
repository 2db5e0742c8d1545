"""`make reliability`: a realistic multi-clinic stream, faults while it flows, and an oracle to judge the result."""
