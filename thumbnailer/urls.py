from django.urls import path

from . import views

app_name = "thumbnailer"
urlpatterns = [
    path("", views.upload, name="upload"),
]
