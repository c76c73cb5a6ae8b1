"""The staff side: sign-in, queues, cases, supervision and administration.

``gate`` is the door (deny by default, roles); ``auth``, ``views``,
``supervise`` and ``admin`` are one blueprint each; ``forms`` their forms.
Views parse the request, call a command or a query, and render.
"""
