mod xmlrpc;
