"""The recipients' side: the signed status callback that confirms a deletion (once)."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import propagation

MAX_BODY = 64 * 1024


@csrf_exempt  # recipients are servers, authenticated by the HMAC signature instead
@require_POST
def notice_callback(request, key):
    if len(request.body) > MAX_BODY:
        return JsonResponse({"error": "body too large"}, status=413)
    try:
        notice = propagation.notice_acknowledge(
            key=key,
            body=request.body,
            signature=request.headers.get(propagation.SIGNATURE_HEADER, ""),
            timestamp=request.headers.get(propagation.TIMESTAMP_HEADER, ""),
            attempt=request.headers.get(propagation.ATTEMPT_HEADER, ""),
        )
    except propagation.SignatureInvalid:
        return JsonResponse({"error": "invalid signature"}, status=403)
    except propagation.CallbackRefused as refusal:
        return JsonResponse({"error": str(refusal)}, status=409)
    except propagation.PropagationError as error:
        return JsonResponse({"error": str(error.message)}, status=400)
    return JsonResponse(
        {"subject_request_id": str(notice.idempotency_key), "status": notice.status}
    )
