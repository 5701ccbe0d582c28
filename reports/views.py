from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest

from reports.models import ReportRun
from surveys.queries import shops_of


@login_required
def download(request: HttpRequest, run_id: int) -> FileResponse:
    run = ReportRun.objects.filter(pk=run_id, shop__in=shops_of(request.user), status=ReportRun.Status.DONE).first()
    if run is None or not run.file:
        raise Http404("no such report")
    return FileResponse(run.file.open("rb"), as_attachment=True, filename=f"{run.shop.slug}-{run.period:%Y-%m}.pdf")
