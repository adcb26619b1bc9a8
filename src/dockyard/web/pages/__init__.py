"""Server-rendered pages, one router per resource; what they share is in ``render``.

Pages read the job store as the API does, never through its routes. In the browser, small
scripts in ``web/static`` post the forms to the REST API and follow ``/api/events`` to update
status, progress and results in place; every page still reads correctly without them.
"""
