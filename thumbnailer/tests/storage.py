"""A storage with no `.path()`, like S3: files on local disk, reachable only through the API."""

from django.core.files.storage import FileSystemStorage, Storage

# The setting's value, for STORAGES in this process and MEDIA_STORAGE in a worker's.
NO_PATH_STORAGE = "thumbnailer.tests.storage.NoPathStorage"


class NoPathStorage(Storage):
    """Delegates the storage API to a FileSystemStorage under MEDIA_ROOT, but has no `path()`
    (Storage.path raises NotImplementedError), so code that reaches for a local path fails."""

    def __init__(self):
        self.disk = FileSystemStorage()

    def _open(self, name, mode="rb"):
        return self.disk._open(name, mode)

    def _save(self, name, content):
        return self.disk._save(name, content)

    def delete(self, name):
        self.disk.delete(name)

    def exists(self, name):
        return self.disk.exists(name)

    def listdir(self, path):
        return self.disk.listdir(path)

    def size(self, name):
        return self.disk.size(name)

    def url(self, name):
        return self.disk.url(name)
