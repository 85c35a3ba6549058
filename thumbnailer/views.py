from django.shortcuts import render


def upload(request):
    """The upload form."""
    return render(request, "thumbnailer/upload.html")
