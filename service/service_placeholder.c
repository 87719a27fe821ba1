/* replaced by the service implementation */
int vkb_service_placeholder_;
