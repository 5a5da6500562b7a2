"""Tuhui dispatch (图绘派单): jobs that automation cannot do go to human designers.

Two sides live here:

* the dispatch **service** on 8005 (:func:`ai_cs.dispatch.app.create_dispatch_app`): designers
  list, claim, release and finish jobs; finishing calls back the API on 6060 with a signed
  request, retried from a callback outbox until acknowledged;
* the ai-cs side: the outbox **relay** (:mod:`ai_cs.dispatch.relay`) that delivers hand-offs
  through the HTTP **client** (:mod:`ai_cs.dispatch.client`), and the callback **receiver**
  (:mod:`ai_cs.dispatch.callback`) that takes the designer's result and moves the task on.

The two sides talk only over HTTP, so a shop can point ai-cs at its own dispatch system.
Nothing is imported here eagerly: the API imports ``ai_cs.dispatch.callback`` alone.
"""
