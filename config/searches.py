"""Search words kept out of URLs, for the work list and every admin list.

What staff search for is a name, an email, a phone number or an order number: personal data,
which must not end up in URLs (access logs, browser history, the Referer header). Search
forms are POSTed; the words stay in the session and the URL carries an opaque key to them
(`search=<key>`), the other filters as they are. A key from another session, or one the
session has forgotten, finds nothing and says so.
"""

import secrets
from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.admin.views.main import (  # type: ignore[attr-defined]  # IS_FACETS_VAR: not in django-stubs
    IS_FACETS_VAR,
    SEARCH_VAR,
    ChangeList,
)
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.utils.translation import gettext as _

SESSION_KEY = "searches"
SEARCHES_KEPT = 20
URL_KEY = "search"  # the parameter that carries the key
# The admin's search form says it is one with this field (templates/admin/search_form.html):
# a changelist's other POSTs are its actions.
ADMIN_FORM_FLAG = "_search"


def remember(session: SessionBase, text: str) -> str:
    """Keep `text` in the session; the key to it, for the URL (the last SEARCHES_KEPT are kept)."""
    searches: dict[str, str] = session.get(SESSION_KEY, {})
    key = next((key for key, kept in searches.items() if kept == text), None) or secrets.token_urlsafe(6)
    searches.pop(key, None)
    searches[key] = text
    session[SESSION_KEY] = dict(list(searches.items())[-SEARCHES_KEPT:])
    return key


def recall(session: SessionBase, key: str) -> str | None:
    """The words `key` stands for in this session, or None if it stands for nothing here."""
    return session.get(SESSION_KEY, {}).get(key)


class KeyedSearchRequest(HttpRequest):
    """An admin list's request whose search words came from the session: its GET as it came, key and all."""

    GET_with_key: QueryDict


class SearchOutsideUrls(admin.ModelAdmin):
    """An admin list whose search box keeps the words out of the URL (see the module's text).

    Every ModelAdmin with `search_fields` is one (a test walks the registry): the project's
    search form template POSTs, which a plain changelist would take for an action.
    """

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "POST" and ADMIN_FORM_FLAG in request.POST:
            if not self.has_view_or_change_permission(request):
                raise PermissionDenied
            return self._search(request)
        key = request.GET.get(URL_KEY)
        if key is not None:
            text = recall(request.session, key)
            if text is None:
                messages.warning(request, _("That search belongs to another session; search again."))
                return _redirect(request, _without(request.GET, URL_KEY, SEARCH_VAR))
            # The changelist reads the words where Django puts them; the URLs it builds from
            # them carry the key again (`_KeyedChangeList`), and so do preserved filters.
            cast(KeyedSearchRequest, request).GET_with_key = request.GET
            words = _without(request.GET, URL_KEY, SEARCH_VAR)
            words[SEARCH_VAR] = text
            request.GET = words  # type: ignore[assignment]  # mutable, as the admin never writes to it
        return super().changelist_view(request, extra_context)

    def _search(self, request: HttpRequest) -> HttpResponseRedirect:
        params = _without(request.POST, "csrfmiddlewaretoken", ADMIN_FORM_FLAG, URL_KEY, SEARCH_VAR, "p")
        text = request.POST.get(SEARCH_VAR, "").strip()[:200]
        if text:
            params[URL_KEY] = remember(request.session, text)
        return _redirect(request, params)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _KeyedChangeList

    def get_preserved_filters(self, request: HttpRequest) -> str:
        with_key = getattr(request, "GET_with_key", None)
        if with_key is None:
            return super().get_preserved_filters(request)
        with_words, request.GET = request.GET, with_key
        try:
            return super().get_preserved_filters(request)
        finally:
            request.GET = with_words


class _KeyedChangeList(ChangeList):
    """A changelist whose links (sorting, filters, pages) carry the search key, not the words."""

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        with_key = getattr(request, "GET_with_key", None)
        self.params.pop(SEARCH_VAR, None)
        self.filter_params.pop(SEARCH_VAR, None)
        if with_key is not None:
            self.params[URL_KEY] = with_key[URL_KEY]
            self.filter_params[URL_KEY] = [with_key[URL_KEY]]
        # The two links Django builds before a subclass can step in.
        self.remove_facet_link = self.get_query_string(remove=[IS_FACETS_VAR])
        self.add_facet_link = self.get_query_string({IS_FACETS_VAR: True})

    def get_filters_params(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        # The key is no field to filter on.
        lookups = super().get_filters_params(params)
        lookups.pop(URL_KEY, None)
        return lookups


def _without(params: QueryDict, *names: str) -> QueryDict:
    kept = params.copy()
    for name in names:
        kept.pop(name, None)
    return kept


def _redirect(request: HttpRequest, params: QueryDict) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{request.path}?{params.urlencode()}" if params else request.path)
