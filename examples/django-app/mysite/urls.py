from django.urls import include, path

from accounts import views

urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path("auth/", include("deviceauth.django.urls")),  # sign in, waiting page, sign out, register
]
