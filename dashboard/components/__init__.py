"""Shared Streamlit widgets and helpers of the Path-GPTomic dashboard."""
