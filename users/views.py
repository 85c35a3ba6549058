from django.shortcuts import render


def user_list(request):
    """The site's users."""
    return render(request, "users/user_list.html")
