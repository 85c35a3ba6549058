from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler


class SizeLimitedUploadHandler(TemporaryFileUploadHandler):
    """Streams an upload to a temporary file like Django's own handler, but stops writing it
    once it passes MAX_UPLOAD_BYTES: the rest is counted, not kept, so the file's size stays
    true and the form refuses it by that size without anything reading it whole."""

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) <= settings.MAX_UPLOAD_BYTES:
            self.file.write(raw_data)
