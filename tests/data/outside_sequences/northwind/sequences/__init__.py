"""Northwind's own sequences, loaded by NURTURE_SEQUENCES=northwind.sequences."""
