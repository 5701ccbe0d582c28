"""The managers' numbers: NPS, CSAT, CES and response rates counted (metrics), the dashboard
and its chart, the numbers API and the CSV exports."""
