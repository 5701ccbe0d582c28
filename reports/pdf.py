"""The only module that imports WeasyPrint."""

from django.template.loader import render_to_string
from weasyprint import HTML


def render_monthly_report(data: dict[str, object]) -> bytes:
    html = render_to_string("reports/monthly.html", {"report": data})
    pdf = HTML(string=html).write_pdf()
    assert pdf is not None  # write_pdf without a target always returns bytes
    return pdf
