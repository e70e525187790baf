import uuid

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts import tokens
from accounts.forms import ThrottledAuthenticationForm
from accounts.selectors import api_tokens_of


class ThrottledLoginView(LoginView):
    """Django's login, refusing to check passwords while the (IP, e-mail) is locked out (429)."""

    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = False

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429
        return response


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request):
    """The user's own API tokens: create one (its secret shown on this answer only), revoke one. No redirect
    after a creation: the secret must not travel in a message, a cookie or a URL."""
    secret = ""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "revoke":
            token = api_tokens_of(request.user).filter(pk=_uuid(request.POST.get("token"))).first()
            if token is None:
                raise Http404(_("Token não encontrado."))
            tokens.token_revoke(token=token)
            response = redirect("api_tokens")
            response.status_code = 303
            return response
        if action != "create":
            return HttpResponseBadRequest(_("Ação desconhecida."))
        name = " ".join(request.POST.get("name", "").split())
        if not name:
            status = 400
        else:
            try:
                _token, secret = tokens.token_create(user=request.user, name=name, created_by=request.user)
            except tokens.TokenRejected:
                status = 400
    context = {"tokens": list(api_tokens_of(request.user)), "secret": secret, "name_missing": status == 400}
    response = render(request, "accounts/api_tokens.html", context, status=status)
    response["Cache-Control"] = "no-store, private"
    return response


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
