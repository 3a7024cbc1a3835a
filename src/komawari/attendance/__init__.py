"""Attendance per lesson and student, and the make-up (振替) credit ledger it feeds."""
