#ifndef LABGATE_CPAM_SHIM_H
#define LABGATE_CPAM_SHIM_H
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>

/* PAM's conversation: answers each prompt that hides its echo (the password prompt of
   pam_unix, pam_sss, ...) with the password passed as appdata; informational and error messages
   need no answer. A visible prompt asks for something else (a user name, a one-time code) that
   a signature cannot give: the conversation fails, and so does the authentication. PAM frees
   the answers; those made here are wiped before they are freed on failure. */
static int lg_pam_converse(int count, const struct pam_message **messages, struct pam_response **responses,
                           void *appdata) {
    if (count <= 0 || count > PAM_MAX_NUM_MSG || appdata == NULL) return PAM_CONV_ERR;
    struct pam_response *reply = calloc((size_t)count, sizeof *reply);
    if (reply == NULL) return PAM_BUF_ERR;
    for (int i = 0; i < count; i++) {
        switch (messages[i]->msg_style) {
        case PAM_PROMPT_ECHO_OFF:
            reply[i].resp = strdup((const char *)appdata);
            if (reply[i].resp == NULL) goto fail;
            break;
        case PAM_ERROR_MSG:
        case PAM_TEXT_INFO:
            break;
        default:
            goto fail;
        }
    }
    *responses = reply;
    return PAM_SUCCESS;
fail:
    for (int i = 0; i < count; i++) {
        if (reply[i].resp != NULL) {
            explicit_bzero(reply[i].resp, strlen(reply[i].resp));
            free(reply[i].resp);
        }
    }
    free(reply);
    return PAM_CONV_ERR;
}

/* The conversation answering `password` (which must outlive the PAM handle). */
static inline struct pam_conv lg_pam_conversation(const char *password) {
    struct pam_conv conversation = { lg_pam_converse, (void *)password };
    return conversation;
}

#endif
