fn main() {
    orrery_web::mount(None, None);
}
