package org.lifeboat.predictor.http;

/** A request that is answered with a 4xx (or 503) and the message, and changes nothing. */
final class RejectedRequest extends Exception {

    private static final long serialVersionUID = 1L;

    static final int BAD_REQUEST = 400;
    static final int UNAUTHORIZED = 401;
    static final int FORBIDDEN = 403;
    static final int NOT_ALLOWED = 405;
    static final int TOO_LARGE = 413;
    static final int UNSUPPORTED_MEDIA_TYPE = 415;
    static final int UNPROCESSABLE = 422;
    static final int UNAVAILABLE = 503;

    private final int status;

    RejectedRequest(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    int status() {
        return status;
    }
}
