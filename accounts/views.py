from django.contrib.auth.views import LoginView

from .forms import ThrottledAuthenticationForm


class ThrottledLoginView(LoginView):
    """Django's login, refusing to check passwords while the (IP, e-mail) is locked out (429)."""

    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = False

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429
        return response
