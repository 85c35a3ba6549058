from django.urls import include, path

from . import tutorial

urlpatterns = [
    path("tutorial/", tutorial.upload),
    path("tutorial/tasks/<str:task_id>/", tutorial.task_status),
    path("", include("image_parroter.urls")),
]
