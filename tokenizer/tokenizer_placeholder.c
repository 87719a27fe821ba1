/* replaced by the tokenizer implementation */
int vkb_tokenizer_placeholder_;
