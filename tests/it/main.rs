mod demo;
mod xmlrpc;
