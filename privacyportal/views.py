from django.shortcuts import render


def home(request):
    return render(request, "home.html")


def handler429(request, exception=None):
    return render(request, "429.html", status=429)
