"""Policy:
policies/*.yaml parsed into frozen objects, signals evaluated into a Verdict, the DSA statement
of reasons.
"""
