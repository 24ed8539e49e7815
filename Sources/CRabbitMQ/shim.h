#ifndef TORPOR_CRABBITMQ_SHIM_H
#define TORPOR_CRABBITMQ_SHIM_H

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

/* amqp_login is variadic (its SASL arguments), which Swift cannot call: this fixes the PLAIN method's two. */
static inline amqp_rpc_reply_t torpor_amqp_login_plain(amqp_connection_state_t state, const char *vhost,
                                                       int heartbeat_seconds, const char *user,
                                                       const char *password) {
    return amqp_login(state, vhost, 0, AMQP_DEFAULT_FRAME_SIZE, heartbeat_seconds, AMQP_SASL_METHOD_PLAIN, user,
                      password);
}

#endif
