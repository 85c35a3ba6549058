from django.urls import path

from . import views

app_name = "users"
urlpatterns = [
    path("", views.user_list, name="list"),
    path("generate/", views.generate, name="generate"),
    path("batches/<uuid:pk>/", views.batch_progress, name="batch_progress"),
    path("batches/<uuid:pk>/status.json", views.batch_status, name="batch_status"),
    path("batches/<uuid:pk>/cancel", views.batch_cancel, name="batch_cancel"),
]
